/* kdoctor: the smallest header bindgen must turn into Rust to prove libclang loads */
struct kdoctor_probe {
	int x;
};
