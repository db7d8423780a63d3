-- A liaison's token belongs to their department: the API shows it the cases referred there,
-- as the console shows its users.
ALTER TABLE api_tokens ADD COLUMN department TEXT;
