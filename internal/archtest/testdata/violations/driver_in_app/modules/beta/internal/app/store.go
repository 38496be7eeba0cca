package app

import "github.com/jackc/pgx/v5"

var _ pgx.Tx
