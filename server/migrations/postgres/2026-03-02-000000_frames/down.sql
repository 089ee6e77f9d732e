DROP TABLE samples;
DROP TABLE frames;
DROP TABLE areas;
