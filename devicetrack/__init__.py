"""devicetrack: donated devices from donor to province to school to student and back."""

# The naming convention must be on the metadata before any table class is defined, and
# every model module is inside this package, so set it here.
from devicetrack.db import base as _base  # noqa: F401

__version__ = "0.1.0"
