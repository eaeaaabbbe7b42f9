"""The pages of the staff's interface, one module each; every module has ``setup(app)``."""
