// Package mdblock reads the fenced code blocks of a Markdown document, for
// the tests that run documentation as written: the migration guides
// (internal/e2e) and the demo walk-through (internal/doccheck). A block is
// a line of three backquotes with an info string ("```sh"), its lines, and
// a line of three backquotes.
package mdblock

import "strings"

// Block is one fenced code block.
type Block struct {
	Info string // the info string after the opening fence: "sh", "text", ...
	Body string // the lines between the fences, joined by "\n"
	Line int    // the line number of the opening fence, from 1
}

// Blocks returns the fenced code blocks of md, in order. An unclosed block
// at the end is left out.
func Blocks(md string) []Block {
	var blocks []Block
	var cur *Block
	var lines []string
	for i, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```"):
			cur, lines = &Block{Info: strings.TrimSpace(strings.TrimPrefix(line, "```")), Line: i + 1}, nil
		case cur != nil && line == "```":
			cur.Body = strings.Join(lines, "\n")
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			lines = append(lines, line)
		}
	}
	return blocks
}

// Shell returns the bodies of the ```sh blocks of md, in order.
func Shell(md string) []string {
	var out []string
	for _, b := range Blocks(md) {
		if b.Info == "sh" {
			out = append(out, b.Body)
		}
	}
	return out
}
