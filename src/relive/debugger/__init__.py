"""relive.debugger"""
