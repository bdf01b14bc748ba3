package data

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzCIFARRecords feeds arbitrary bytes to the CIFAR record reader as a
// CIFAR-10 and as a CIFAR-100 file. It checks that nothing panics, that a
// success means a whole number of records with labels in range and pixels
// in [0,1] equal to the file's bytes, and that a failure is a one-line
// message naming the file. CI runs only the seed corpus; run
// `go test -fuzz FuzzCIFARRecords ./data` to explore.
func FuzzCIFARRecords(f *testing.F) {
	f.Add(cifarBytes(0, cifar10Labels(2, 0)...))
	f.Add(cifarBytes(3, cifar100Labels(2, 5)...))
	f.Add(cifarBytes(1, []byte{9}))
	f.Add(cifarBytes(1, []byte{19, 99}))
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add(cifarBytes(0, []byte{10}))                           // label out of range
	f.Add(cifarBytes(0, []byte{20, 1}))                        // coarse out of range
	f.Add(cifarBytes(0, []byte{1, 100}))                       // fine out of range
	f.Add(cifarBytes(0, cifar10Labels(2, 0)...)[:2*3073-1])    // short record
	f.Add(append(cifarBytes(0, cifar10Labels(1, 0)...), 1, 2)) // trailing bytes

	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, file []byte) {
		path := writeFile(t, dir, "fuzz.bin", file)
		for _, format := range []cifarFormat{cifar10Format, cifar100Format} {
			rec := format.recordSize()
			n, err := cifarRecords(path, format)
			if err != nil {
				checkFuzzError(t, format.title+" size", err, path)
				if len(file) > 0 && len(file)%rec == 0 {
					t.Errorf("case %v: got %v for %d bytes, want a whole number of records accepted", format.title, err, len(file))
				}
				continue
			}
			if n*rec != len(file) || n == 0 {
				t.Errorf("case %v: got %d records for %d bytes, want %d", format.title, n, len(file), len(file)/rec)
				continue
			}
			for which := range format.labels {
				images := make([]uint8, n*cifarPixels)
				labels := make([]int, n)
				err := readCIFARFile(path, n, format, which, make([]byte, rec), images, labels)
				if err != nil {
					checkFuzzError(t, format.title+" read", err, path)
					continue
				}
				for i := 0; i < n; i++ {
					if labels[i] != int(file[i*rec+which]) || labels[i] >= format.labels[which].classes {
						t.Errorf("case %v: got label %d of record %d, want byte %d in range", format.title, labels[i], i, file[i*rec+which])
					}
					for k, b := range file[i*rec+len(format.labels) : (i+1)*rec] {
						if v := images[i*cifarPixels+k]; v != b {
							t.Errorf("case %v: got pixel %d of record %d = %v, want %v", format.title, k, i, v, b)
							break
						}
					}
				}
			}
		}
		// The reader of an in-memory stream agrees on the label check.
		if len(file) > 0 && len(file)%3073 == 0 {
			err := decodeCIFAR(bytes.NewReader(file), len(file)/3073, cifar10Format, 0, make([]byte, 3073), nil, nil)
			bad := false
			for i := 0; i < len(file); i += 3073 {
				bad = bad || file[i] >= 10
			}
			if (err != nil) != bad || err != nil && !strings.Contains(err.Error(), "has label") {
				t.Errorf("case stream: got %v, want an error exactly when a label is >= 10", err)
			}
		}
	})
}
