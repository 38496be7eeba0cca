package datamove

// LatestVersion is latestVersion, for the tests outside the package.
var LatestVersion = latestVersion
