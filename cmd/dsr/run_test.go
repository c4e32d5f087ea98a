package main

import "testing"

func TestOnceMovesSummary(t *testing.T) {
	tests := []struct {
		name  string
		moves []struct {
			folder string
			n      int
		}
		reconciled int
		want       string
	}{
		{"nothing", nil, 0, "moved 0 message(s) out of the inbox; recorded 0 earlier move(s) found in the folders"},
		{"by folder, in the order first moved", []struct {
			folder string
			n      int
		}{{"Queried", 2}, {"Processed", 1}, {"Queried", 3}}, 0,
			"moved 6 message(s) out of the inbox: Queried 5, Processed 1; recorded 0 earlier move(s) found in the folders"},
		{"only reconciled", nil, 4, "moved 0 message(s) out of the inbox; recorded 4 earlier move(s) found in the folders"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m onceMoves
			for _, mv := range tt.moves {
				m.moved(mv.folder, mv.n)
			}
			m.reconciled = tt.reconciled
			if got := m.summary(); got != tt.want {
				t.Errorf("summary = %q, want %q", got, tt.want)
			}
		})
	}
}
