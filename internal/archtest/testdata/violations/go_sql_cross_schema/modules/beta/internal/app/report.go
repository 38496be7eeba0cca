package app

const report = `SELECT l.alpha_id, i."from"
	FROM links l
	JOIN alpha.items i ON i.id = l.alpha_id`

const purge = "DELETE FROM \"alpha\".items WHERE id = $1"
