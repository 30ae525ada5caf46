-- One database per service (each service owns its schema and runs its own Alembic migrations).
-- Run once by the postgres image, as POSTGRES_USER (mutualaid), when its data volume is empty.
CREATE DATABASE requests;
CREATE DATABASE availability;
CREATE DATABASE tasking;
