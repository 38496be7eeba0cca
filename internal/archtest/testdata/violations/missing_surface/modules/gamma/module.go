// Package gamma wires a module that forgot its surface package.
package gamma
