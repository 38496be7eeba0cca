-- One row per alpha item; alpha_id is no foreign key (alpha owns items).
CREATE TABLE links (alpha_id uuid PRIMARY KEY);
