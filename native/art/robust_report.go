package main

import (
	"fmt"
	"strings"
)

// robustMarkdown appends the tables of the optional sections: common
// corruptions (the paper's Table 3), SPSA next to PGD, the transfer matrix
// (Table 6), the spatial attack and the sensitivity of the maps, after the
// mass-centre and targeted attribution attacks.
func robustMarkdown(md *strings.Builder, o EvalOptions, reports []ModelReport) {
	attributionMarkdown(md, o, reports)
	if c := reports[0].Corruptions; c != nil {
		fmt.Fprintf(md, "\nAccuracy (percent) under common corruptions, %d test images, mean over severities 1-5 per type:\n\n| corruption |", c.N)
		for _, r := range reports {
			fmt.Fprintf(md, " %s |", shortName(r.Checkpoint))
		}
		md.WriteString("\n|---|" + strings.Repeat("---:|", len(reports)) + "\n")
		for t, ty := range c.Types {
			fmt.Fprintf(md, "| %s |", ty.Name)
			for _, r := range reports {
				fmt.Fprintf(md, " %s |", pct(r.Corruptions.Types[t].Mean))
			}
			md.WriteString("\n")
		}
		md.WriteString("| **mean** |")
		for _, r := range reports {
			fmt.Fprintf(md, " **%s** |", pct(r.Corruptions.Mean))
		}
		md.WriteString("\n")
	}
	if s := reports[0].SPSA; s != nil {
		fmt.Fprintf(md, "\nGradient-free check (percent, first %d test images): SPSA (%d iterations of %d samples, eps %s) against PGD-%d on the same images; SPSA well below PGD would point to gradient masking.\n\n",
			s.N, s.Iterations, s.Samples, epsText(o.PGDNorm, float64(o.PGDEps)), o.PGDSteps)
		md.WriteString("| checkpoint | SPSA acc | PGD acc |\n|---|---:|---:|\n")
		for _, r := range reports {
			fmt.Fprintf(md, "| %s | %s | %s |\n", r.Checkpoint, pct(r.SPSA.Acc), pct(r.SPSA.PGDAcc))
		}
	}
	if len(reports[0].Transfer) > 0 {
		fmt.Fprintf(md, "\nTransfer attacks (percent): accuracy of the target (column) on PGD-%d examples crafted on the source (row), %d test images; the diagonal is white-box PGD.\n\n| source → target |",
			o.PGDSteps, reports[0].Transfer[0].N)
		for _, r := range reports {
			fmt.Fprintf(md, " %s |", shortName(r.Checkpoint))
		}
		md.WriteString("\n|---|" + strings.Repeat("---:|", len(reports)) + "\n")
		for s, src := range reports[0].Transfer {
			fmt.Fprintf(md, "| %s |", shortName(src.Source))
			for _, r := range reports {
				fmt.Fprintf(md, " %s |", pct(r.Transfer[s].Acc))
			}
			md.WriteString("\n")
		}
	}
	if s := reports[0].Spatial; s != nil {
		fmt.Fprintf(md, "\nSpatial attack (Engstrom et al.): worst of %d rotations in ±%g° x %d x %d shifts in ±%g px, %d test images.\n\n| checkpoint | spatial acc |\n|---|---:|\n",
			s.Rotations, s.MaxRotation, s.Translations, s.Translations, s.MaxTranslation, s.N)
		for _, r := range reports {
			fmt.Fprintf(md, "| %s | %s |\n", r.Checkpoint, pct(r.Spatial.Acc))
		}
	}
	if s := reports[0].Sensitivity; s != nil {
		fmt.Fprintf(md, "\nSensitivity of the %s map of the true class, %d test images, max over %d uniform perturbations in the L-inf ball of radius %g (lower is more robust; mean ± std over images).\n\n| checkpoint | max-sensitivity | local Lipschitz |\n|---|---:|---:|\n",
			s.Method, s.N, s.Samples, s.Radius)
		for _, r := range reports {
			fmt.Fprintf(md, "| %s | %.4f ± %.4f | %.4g ± %.4g |\n", r.Checkpoint,
				float64(r.Sensitivity.MaxSensitivity.Mean), float64(r.Sensitivity.MaxSensitivity.Std),
				float64(r.Sensitivity.Lipschitz.Mean), float64(r.Sensitivity.Lipschitz.Std))
		}
	}
}
