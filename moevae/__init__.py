"""moevae: train a Mixture-of-Experts VAE while a live Visdom board shows it.

A modern re-implementation of the pynet workflow: replace ``pynet`` with
``moevae`` in a pynet script's imports and it runs.
"""
import importlib
import logging
from typing import Any, Callable, Dict, List, Tuple

__version__ = "0.1.0"

logging.getLogger("moevae").addHandler(logging.NullHandler())


def lazy_exports(package: str, sources: Dict[str, str],
                 namespace: Dict[str, Any]
                 ) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` (PEP 562) that import
    each exported name from its submodule on first use.

    sources: {name: submodule}; namespace: the package's ``globals()``,
    where a name is kept once imported. Raises AttributeError for any
    other name, as a module does.
    """
    def __getattr__(name: str) -> Any:
        if name not in sources:
            raise AttributeError(f"module {package!r} has no attribute "
                                 f"{name!r}")
        module = importlib.import_module(f".{sources[name]}", package)
        namespace[name] = getattr(module, name)
        return namespace[name]

    def __dir__() -> List[str]:
        return sorted(set(namespace) | set(sources))

    return __getattr__, __dir__
