package register

import "time"

// Eighteenth is the day a child born on dob turns 18, by ageOn's reading
// of 29 February (1 March in a common year). The store's digest uses it
// for the children turning 18; it lives beside ageOn so the two cannot
// read the law differently.
func Eighteenth(dob time.Time) time.Time {
	y, m, d := dob.Year()+18, dob.Month(), dob.Day()
	if m == time.February && d == 29 && !isLeap(y) {
		m, d = time.March, 1
	}
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AgeOn is the age in whole years on a date, by the same reading of 29
// February as the rules; the pages show it beside the child's name.
func AgeOn(dob, on time.Time) int { return ageOn(dob, on) }
