//! Links the application as its .def describes.
fn main() {
    component_build::link("emptyapp.def")
}
