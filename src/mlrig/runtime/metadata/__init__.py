"""The SQL metadata store (SQLite, PostgreSQL, MySQL/MariaDB): :mod:`.sql`, its tables
(:mod:`.schema`), the revisions it knows (:mod:`.revisions`) and its migrations."""
