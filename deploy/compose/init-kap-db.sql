-- The engine's own database, with an owner role that runs migrations and an application role that
-- the worker and API use (migrations grant it what it needs; it cannot change the audit log).
CREATE ROLE kap_owner LOGIN PASSWORD 'kap_owner';
CREATE ROLE kap_app LOGIN PASSWORD 'kap_app';
CREATE DATABASE kap OWNER kap_owner;
