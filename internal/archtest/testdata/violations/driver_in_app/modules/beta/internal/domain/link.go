package domain

import (
	"github.com/jackc/pgx/v5/pgtype"
	"time"
)

var _ pgtype.Text
var _ time.Time
