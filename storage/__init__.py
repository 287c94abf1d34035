"""The application database (SQLAlchemy 2): models and repositories, one concern per module."""
