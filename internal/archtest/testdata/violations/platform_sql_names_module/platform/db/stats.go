package db

var stats = "SELECT count(*) FROM beta.links"
