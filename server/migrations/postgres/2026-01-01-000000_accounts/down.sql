DROP TABLE projects;
DROP TABLE tokens;
DROP TABLE devices;
DROP TABLE users;
DROP TABLE teams;
