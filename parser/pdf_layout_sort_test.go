package parser

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortByBaselineIsStable checks sortByBaseline and sortRowByX against
// the stable sorts they replace, on glyphs with many equal baselines and
// places (a line's glyphs, text overprinted) and in every starting order:
// sorted, reversed, shuffled.
func TestSortByBaselineIsStable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var scratch []int32
	for n := range 200 {
		gs := make([]glyph, n)
		for i := range gs {
			gs[i] = glyph{x: float64(rng.IntN(50)), y: float64(rng.IntN(1 + n/4)), s: fmt.Sprint(i)}
			if rng.IntN(10) == 0 {
				gs[i].y = 0.5 + float64(rng.IntN(3)) // baselines set between lines
			}
		}
		for _, order := range []string{"shuffled", "sorted", "reversed"} {
			in := slices.Clone(gs)
			switch order {
			case "sorted":
				slices.SortStableFunc(in, func(a, b glyph) int { return cmp.Compare(b.y, a.y) })
			case "reversed":
				slices.SortStableFunc(in, func(a, b glyph) int { return cmp.Compare(a.y, b.y) })
			}
			want := slices.Clone(in)
			slices.SortStableFunc(want, func(a, b glyph) int { return cmp.Compare(b.y, a.y) })
			got := slices.Clone(in)
			sortByBaseline(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%d glyphs, %s: got %v, want %v", n, order, got, want)
			}
			// And by x, as a row is sorted, its scratch space reused.
			want = slices.Clone(in)
			slices.SortStableFunc(want, func(a, b glyph) int { return cmp.Compare(a.x, b.x) })
			got = slices.Clone(in)
			scratch = sortRowByX(got, scratch)
			if !slices.Equal(got, want) {
				t.Fatalf("%d glyphs by x, %s: got %v, want %v", n, order, got, want)
			}
		}
	}
}
