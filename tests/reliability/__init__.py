"""Reliability: nothing the program, the channel or a bad delta does can kill the program or
put relive out of step."""
