"""Errors the runtime raises into the program."""

from __future__ import annotations


class DeletedDefinitionError(RuntimeError):
    """Raised when code calls a function whose definition was deleted from the source.

    What a deleted function becomes is a *tombstone*: the function object stays (callbacks
    and registries may still hold it) but calling it raises this error, which names the
    definition and the generation that deleted it. Put the definition back and the same
    object comes back to life.
    """

    def __init__(self, path: str, module: str, generation: int) -> None:
        super().__init__(
            f"{module}.{path} was deleted from the source in generation {generation}; "
            f"this reference to it is stale (restore the definition, or stop calling it)")
        self.path = path
        self.module = module
        self.generation = generation

    def __reduce__(self) -> tuple[type, tuple[str, str, int]]:
        return (type(self), (self.path, self.module, self.generation))
