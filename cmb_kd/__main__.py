"""Allows ``python -m cmb_kd`` as an alias of the ``cmb-kd`` console script."""

from cmb_kd.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
