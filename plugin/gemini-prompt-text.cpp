/* placeholder: filled in by the inputs work (issue 9). */
