package parser

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
	"time"
)

// TestBodyImage: a picture small enough to be a logo is never a form,
// wherever it is; a picture big enough to hold a page is a possible form,
// wherever it is (attached, inline with a Content-ID as iOS Mail sends a
// photo, pasted into an Outlook body); one whose size cannot be read is
// judged by its place, as before.
func TestBodyImage(t *testing.T) {
	enc := func(w, h int, asJPEG bool) []byte {
		img := image.NewGray(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = 255
		}
		img.Set(w/2, h/2, color.Black)
		var b bytes.Buffer
		var err error
		if asJPEG {
			err = jpeg.Encode(&b, img, nil)
		} else {
			err = png.Encode(&b, img)
		}
		if err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	logo, signature := enc(240, 80, false), enc(500, 700, true)
	page, sideways := enc(1240, 1754, true), enc(1754, 1240, false)
	junk := []byte("\x89PNG but not one")
	attached := func(d []byte) *part {
		return &part{mediaType: "image/png", disposition: "attachment", filename: "x", data: d}
	}
	inlineCID := func(d []byte) *part {
		return &part{mediaType: "image/jpeg", disposition: "inline", filename: "IMG_0042.jpeg", contentID: "A1B2@apple", data: d}
	}
	related := func(d []byte) *part {
		return &part{mediaType: "image/png", inRelated: true, contentID: "image001.png@01DB", data: d}
	}
	for _, tt := range []struct {
		name string
		pt   *part
		body bool
	}{
		{"a logo attached", attached(logo), true},
		{"a logo inline", inlineCID(logo), true},
		{"a logo in multipart/related", related(logo), true},
		{"a scanned signature, 500x700", attached(signature), true},
		{"a page attached", attached(page), false},
		{"a page inline with a Content-ID (iOS Mail)", inlineCID(page), false},
		{"a page pasted into the body (multipart/related)", related(page), false},
		{"a page turned sideways", attached(sideways), false},
		{"unreadable size, in multipart/related", related(junk), true},
		{"unreadable size, inline with a Content-ID", inlineCID(junk), true},
		{"unreadable size, attached", attached(junk), false},
	} {
		if got := bodyImage(tt.pt); got != tt.body {
			t.Errorf("%s: body image %v, want %v", tt.name, got, tt.body)
		}
	}
}

// TestOCRInlinePhoto sends the fixtures' phone photo of the consent form
// as iOS Mail does, inline with a Content-ID beside the text, and asserts
// that it is read by OCR as the consent form.
func TestOCRInlinePhoto(t *testing.T) {
	o := needOCR(t)
	photo, jpg := fixturePhoto(t)
	var b bytes.Buffer
	b.WriteString("From: referrer@nhs.net\r\nSubject: DSR consent\r\nMIME-Version: 1.0 (1.0)\r\nContent-Type: multipart/mixed; boundary=Apple-Mail-1F2E\r\n\r\n")
	b.WriteString("--Apple-Mail-1F2E\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n\r\nConsent form attached\r\n\r\nSent from my iPhone\r\n")
	fmt.Fprintf(&b, "--Apple-Mail-1F2E\r\nContent-Type: image/jpeg; name=IMG_2043.jpeg; x-apple-part-url=8C1D-2\r\nContent-Disposition: inline; filename=IMG_2043.jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-Id: <8C1D2E3F-0A1B@apple>\r\n\r\n%s--Apple-Mail-1F2E--\r\n", b64(jpg))
	p := New(Options{OCR: o, Limits: Limits{OCRTimeout: 15 * time.Minute}})
	got, err := p.Parse(context.Background(), b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got.Consent == nil || got.Consent.Source != SourceOCR {
		t.Fatalf("the inline photo was not read as the consent form: attachments %+v", summary(got))
	}
	if n := got.Consent.Get("cyp_nhs_number"); n != photo.Fields[Consent]["cyp_nhs_number"] || n == "" {
		t.Errorf("NHS number read %q", n)
	}
}

// TestDetectPhotosByContent: a phone's photo is an image by its content,
// whatever type the mail client gave it (application/octet-stream is
// common for HEIC, which few clients know).
func TestDetectPhotosByContent(t *testing.T) {
	heic := append([]byte{0, 0, 0, 0x18}, []byte("ftypheic\x00\x00\x00\x00mif1heic")...)
	for _, tt := range []struct {
		name, ctype, filename string
		data                  []byte
		want                  string
	}{
		{"HEIC as octet-stream", "application/octet-stream", "IMG_0042.HEIC", heic, detectImage},
		{"HEIC without a name", "application/octet-stream", "", heic, detectImage},
		{"JPEG as octet-stream", "application/octet-stream", "scan", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), detectImage},
		{"an MP4 video (ISO BMFF too) is not a photo", "application/octet-stream", "clip.mp4", append([]byte{0, 0, 0, 0x18}, []byte("ftypisom\x00\x00\x02\x00isomiso2")...), detectOther},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := detect(&part{mediaType: tt.ctype, filename: tt.filename, data: tt.data}); got != tt.want {
				t.Errorf("detected %q, want %q", got, tt.want)
			}
		})
	}
}
