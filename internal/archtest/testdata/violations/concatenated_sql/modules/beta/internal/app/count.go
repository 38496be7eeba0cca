package app

func count() string {
	return "SELECT count(*) FROM " +
		"ALPHA.items"
}
