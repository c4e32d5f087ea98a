package config

import (
	"fmt"

	"dsr-intake/register"
)

// Actions sets when the register's actions fall due (register.DuePolicy);
// zero keeps the national policy's default.
type Actions struct {
	RedCETRWithinDays   int `toml:"red_cetr_within_days"`
	KeyWorkerWithinDays int `toml:"key_worker_within_days"`
	InpatientCETRMonths int `toml:"inpatient_cetr_every_months"`
	DueSoonDays         int `toml:"due_soon_days"`
	// NotEligibleHelp is the "where else to turn" paragraph of the notice a
	// referrer gets when a referral is closed as not eligible.
	NotEligibleHelp string `toml:"not_eligible_help"`
	// Export names the roles that may export the whole register:
	// "coordinator" (coordinators and admins, the default) or "viewer"
	// (everyone signed in).
	Export string `toml:"export"`
}

// DuePolicy is the area's due-date policy, defaults filled in.
func (a Actions) DuePolicy() register.DuePolicy {
	return register.DuePolicy{RedCETRWithinDays: a.RedCETRWithinDays, KeyWorkerWithinDays: a.KeyWorkerWithinDays,
		InpatientCETRMonths: a.InpatientCETRMonths, DueSoonDays: a.DueSoonDays}.WithDefaults()
}

func (a Actions) check() []string {
	var p []string
	for _, f := range []struct {
		key string
		v   int
	}{{"red_cetr_within_days", a.RedCETRWithinDays}, {"key_worker_within_days", a.KeyWorkerWithinDays},
		{"inpatient_cetr_every_months", a.InpatientCETRMonths}, {"due_soon_days", a.DueSoonDays}} {
		if f.v < 0 || f.v > 3660 {
			p = append(p, fmt.Sprintf("actions.%s: %d is not a number of days or months from 1 (0 keeps the default)", f.key, f.v))
		}
	}
	switch a.Export {
	case "", "coordinator", "viewer":
	default:
		p = append(p, fmt.Sprintf("actions.export: %q is not coordinator or viewer", a.Export))
	}
	return p
}
