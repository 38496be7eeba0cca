package pg

import "github.com/jackc/pgx/v5"

var _ pgx.Tx // adapters use the driver
