-- A foreign key into another module's schema couples the two databases.
ALTER TABLE links
    ADD FOREIGN KEY (alpha_id) REFERENCES alpha.items (id);
