package mdblock_test

import (
	"slices"
	"testing"

	"github.com/modmono/shop/internal/mdblock"
)

func TestBlocks(t *testing.T) {
	t.Parallel()
	md := "# T\n\n```sh\necho a\necho b\n```\n\ntext\n\n```text\na\n```\n```\nplain\n```\n```sh\nunclosed\n"
	got := mdblock.Blocks(md)
	want := []mdblock.Block{{Info: "sh", Body: "echo a\necho b", Line: 3}, {Info: "text", Body: "a", Line: 10}, {Info: "", Body: "plain", Line: 13}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if sh := mdblock.Shell(md); !slices.Equal(sh, []string{"echo a\necho b"}) {
		t.Fatalf("Shell: %q", sh)
	}
}
