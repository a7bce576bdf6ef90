"""Image matching: PDQ perceptual hashes, a Hamming index, ad-image links, a hotel gallery."""
