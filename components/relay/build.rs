//! Links the component as its .def describes.
fn main() {
    component_build::link("relay.def")
}
