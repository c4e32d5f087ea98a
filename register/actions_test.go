package register

import (
	"testing"
	"time"
)

func d(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDuePolicy(t *testing.T) {
	today := d("2026-12-05")
	type want struct {
		what    string
		due     string
		overdue bool
		soon    bool
	}
	tests := []struct {
		name  string
		state ActionState
		want  []want
	}{
		{"red with nothing done", ActionState{RAG: "Red", RAGSince: d("2026-10-01")}, []want{
			{"C(E)TR (rated Red)", "2026-10-29", true, false},
			{"Key worker referral (rated Red)", "2026-10-29", true, false},
		}},
		{"red with a C(E)TR after the rating and a key worker", ActionState{RAG: "Red", RAGSince: d("2026-10-01"), LastCETR: d("2026-10-20"), KeyWorker: d("2026-10-02")}, nil},
		{"red again after an old C(E)TR", ActionState{RAG: "Red", RAGSince: d("2026-11-20"), LastCETR: d("2026-06-01"), KeyWorker: d("2026-06-01")}, []want{
			{"C(E)TR (rated Red)", "2026-12-18", false, true},
		}},
		{"amber needs a key worker only", ActionState{RAG: "Amber", RAGSince: d("2026-12-01")}, []want{
			{"Key worker referral (rated Amber)", "2026-12-29", false, false},
		}},
		{"green needs nothing", ActionState{RAG: "Green", RAGSince: d("2025-01-01")}, nil},
		{"in hospital: every 3 months from admission", ActionState{RAG: "Blue", RAGSince: d("2026-08-01"), InHospital: true, AdmittedOn: d("2026-08-01")}, []want{
			{"Inpatient C(E)TR (in hospital)", "2026-11-01", true, false},
		}},
		{"in hospital: from the last inpatient C(E)TR", ActionState{RAG: "Blue", RAGSince: d("2026-08-01"), InHospital: true, AdmittedOn: d("2026-08-01"), LastInpatientCETR: d("2026-11-10")}, []want{
			{"Inpatient C(E)TR (in hospital)", "2027-02-10", false, false},
		}},
		{"red in hospital: the inpatient rule, not the community one", ActionState{RAG: "Red", RAGSince: d("2026-11-01"), InHospital: true, AdmittedOn: d("2026-11-15"), KeyWorker: d("2026-11-02")}, []want{
			{"Inpatient C(E)TR (in hospital)", "2027-02-15", false, false},
		}},
	}
	for _, tt := range tests {
		got := DefaultDuePolicy().Due(tt.state, today)
		if len(got) != len(tt.want) {
			t.Errorf("%s: %d actions %+v; want %d", tt.name, len(got), got, len(tt.want))
			continue
		}
		for i, w := range tt.want {
			g := got[i]
			if g.What != w.what || g.Due.Format("2006-01-02") != w.due || g.Overdue != w.overdue || g.Soon != w.soon {
				t.Errorf("%s: action %d = %q %s overdue=%v soon=%v; want %q %s %v %v", tt.name, i, g.What, g.Due.Format("2006-01-02"), g.Overdue, g.Soon, w.what, w.due, w.overdue, w.soon)
			}
		}
	}
}

func TestDuePolicyFromConfig(t *testing.T) {
	p := DuePolicy{RedCETRWithinDays: 7}.WithDefaults()
	got := p.Due(ActionState{RAG: "Red", RAGSince: d("2026-12-01"), KeyWorker: d("2026-12-01")}, d("2026-12-05"))
	if len(got) != 1 || got[0].Due.Format("2006-01-02") != "2026-12-08" || p.KeyWorkerWithinDays != 28 {
		t.Errorf("a local Red C(E)TR rule of 7 days: %+v (policy %+v)", got, p)
	}
}
