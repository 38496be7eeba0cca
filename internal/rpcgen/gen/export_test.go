package gen

// ImportName is importName, for the tests.
var ImportName = importName
