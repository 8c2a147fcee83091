// Package e2e tests the in-browser demonstrator in a real browser: it builds
// the site (./build.sh web), serves it on 127.0.0.1, drives headless
// Chromium with chromedp through the page as a visitor would, and asserts on
// what the page shows. It skips when no Chromium is installed
// (apt-get install chromium; or set ART_CHROMIUM to a browser binary).
//
// Screenshots go to runs/browsertest/ (or $ART_E2E_OUT), and the test logs
// its measurements: time to interactive, WASM sizes, IG-100 and attack step
// times in the browser.
package e2e
