// Package gamma wires a module that forgot its migrations.
package gamma
