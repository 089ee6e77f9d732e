DROP TABLE sync_devices;
DROP TABLE sync_refusals;
DROP TABLE sync_entities;
DROP TABLE sync_log;
