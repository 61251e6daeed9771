"""`manage.py bench`: hot operations measured through the real stack beside their floor."""
