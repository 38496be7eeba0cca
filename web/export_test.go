package web

// HandlerFS is Handler over files, so a test can give a console page or not.
var HandlerFS = handler
