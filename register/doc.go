// Package register is the Dynamic Support Register's domain: the rules
// that decide what happens to a referral (Assess, with its reason codes
// and outcomes, and the messages that explain them to the referrer), the
// decision and the case's forms it is made on, the record of a child on
// the register (Record, Consent, Referral, RAGChange), NHS number checks
// and the age rules. It keeps nothing: register/store does.
package register
