"""The results store: SQLAlchemy models and the one session helper."""
