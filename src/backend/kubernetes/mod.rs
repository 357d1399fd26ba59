//! `kind = "kubernetes"`: Deployments and their ReplicaSet history.

pub mod kubectl;
