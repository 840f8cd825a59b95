"""cmb_kd: cerebral microbleed detection on low-resolution T2*/SWI MRI by knowledge distillation."""

__version__ = "0.1.0"

__all__ = ["__version__"]
