DROP TABLE message_events;
DROP TABLE messages;
DROP TABLE contacts;
