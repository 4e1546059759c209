"""``python -m cxlib``: the same command line as ``cxlib``."""

from cxlib.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
