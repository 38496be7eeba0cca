-- alpha owns items; beta reads them through alpha's API.
CREATE TABLE items (id uuid PRIMARY KEY, "from" text);
CREATE INDEX ON alpha.items ("from");
