//! The shipped default welcome email, as a built-in template (id `default`)
//! rendered by the same code as an organization's own templates.

use std::collections::BTreeMap;

use super::template::{EmailTemplate, Variant};
use crate::ids::TemplateId;

/// The id of the shipped default template.
pub const DEFAULT_TEMPLATE_ID: &str = "default";
/// Its name, as the admin API lists it.
pub const DEFAULT_TEMPLATE_NAME: &str = "Default welcome email";

/// (language, subject, body) of every language the default ships in.
const VARIANTS: [(&str, &str, &str); 7] = [
    (
        "en",
        "Welcome to {{companyName}}",
        "Hello {{firstName}},\n\n\
         An account has been set up for you with these products: {{products}}.\n\n\
         Sign in here:\n{{loginUrl}}\n",
    ),
    (
        "de",
        "Willkommen bei {{companyName}}",
        "Hallo {{firstName}},\n\n\
         für Sie wurde ein Konto mit diesen Produkten eingerichtet: {{products}}.\n\n\
         Hier melden Sie sich an:\n{{loginUrl}}\n",
    ),
    (
        "fr",
        "Bienvenue chez {{companyName}}",
        "Bonjour {{firstName}},\n\n\
         Un compte a été créé pour vous avec les produits suivants : {{products}}.\n\n\
         Pour vous connecter :\n{{loginUrl}}\n",
    ),
    (
        "es",
        "Le damos la bienvenida a {{companyName}}",
        "Hola {{firstName}}:\n\n\
         Se ha creado una cuenta para usted con estos productos: {{products}}.\n\n\
         Inicie sesión aquí:\n{{loginUrl}}\n",
    ),
    (
        "it",
        "Ti diamo il benvenuto in {{companyName}}",
        "Ciao {{firstName}},\n\n\
         è stato creato per te un account con questi prodotti: {{products}}.\n\n\
         Accedi qui:\n{{loginUrl}}\n",
    ),
    (
        "pt-BR",
        "Boas-vindas: sua conta {{companyName}} está pronta",
        "Olá {{firstName}},\n\n\
         Criamos uma conta para você com estes produtos: {{products}}.\n\n\
         Faça login aqui:\n{{loginUrl}}\n",
    ),
    (
        "ja",
        "{{companyName}} へようこそ",
        "{{firstName}} 様\n\n\
         次の製品をご利用いただけるアカウントを作成しました：{{products}}\n\n\
         以下の URL からサインインしてください。\n{{loginUrl}}\n",
    ),
];

/// The languages the default template ships in.
pub const DEFAULT_LANGUAGES: [&str; 7] = ["en", "de", "fr", "es", "it", "pt-BR", "ja"];

/// The shipped default template.
pub fn default_template() -> EmailTemplate {
    EmailTemplate {
        id: TemplateId::shipped_default(),
        name: DEFAULT_TEMPLATE_NAME.to_owned(),
        variants: VARIANTS
            .iter()
            .map(|(lang, subject, body)| {
                (
                    (*lang).to_owned(),
                    Variant {
                        subject: (*subject).to_owned(),
                        body: (*body).to_owned(),
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_default_passes_the_checks_admins_templates_pass() {
        let t = default_template();
        let checked = EmailTemplate::parse(t.id.clone(), &t.name, t.variants.clone()).unwrap();
        assert_eq!(checked, t);
        assert_eq!(t.id.as_str(), DEFAULT_TEMPLATE_ID);
        assert_eq!(t.languages(), {
            let mut l = DEFAULT_LANGUAGES.to_vec();
            l.sort_unstable();
            l
        });
    }
}
